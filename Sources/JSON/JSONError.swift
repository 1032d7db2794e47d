/// Why a document was rejected and where: every parse failure is reported as one of these.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Byte offset in the input of the first byte that made the document invalid; the input's
    /// length when the document ended too early.
    public let offset: Int
    /// A short fixed phrase naming the rule that was broken, e.g. "trailing comma". The phrases are
    /// stable so that callers and tests may compare them, but they are not meant for end users.
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// The reasons the parser gives, kept in one place so every violation maps to exactly one phrase.
extension JSONError {
    static let unexpectedEnd = "unexpected end of input"
    static let unexpectedCharacter = "unexpected character"
    static let trailingCharacters = "unexpected data after the value"
    static let invalidLiteral = "invalid literal"
    static let trailingComma = "trailing comma"
    static let expectedKey = "expected a string key"
    static let expectedColon = "expected ':' after a key"
    static let expectedCommaOrBrace = "expected ',' or '}'"
    static let expectedCommaOrBracket = "expected ',' or ']'"
    static let tooDeep = "nesting too deep"
    static let invalidNumber = "invalid number"
    static let leadingZero = "leading zero in number"
    static let numberOutOfRange = "number out of range"
    static let unterminatedString = "unterminated string"
    static let controlCharacter = "unescaped control character in string"
    static let invalidEscape = "invalid escape"
    static let invalidUnicodeEscape = "invalid \\u escape"
    static let loneSurrogate = "lone or invalid surrogate in \\u escape"
    static let invalidUTF8 = "invalid UTF-8"
}
