/// Header fields in the order they were received or added. Names keep their spelling; every lookup
/// compares names ASCII case-insensitively.
public struct HTTPHeaders: Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral,
    ExpressibleByArrayLiteral, CustomStringConvertible {
    public typealias Element = (name: String, value: String)

    private var fields: [Element]

    public init() { fields = [] }

    public init(_ fields: [Element]) { self.fields = fields }

    /// Keeps the literal's order (a dictionary literal is a list of pairs until it becomes a Dictionary).
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// `[]`, or pairs when a name repeats: `[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]`.
    public init(arrayLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> Element { fields[position] }

    /// The first value of the field `name`, or nil.
    public subscript(name: String) -> String? {
        for field in fields where ASCII.equalsIgnoringCase(field.name, name) { return field.value }
        return nil
    }

    /// Every value of the field `name`, in order.
    public func values(for name: String) -> [String] {
        fields.compactMap { ASCII.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Whether any `name` field holds `token` in its comma-separated list, case-insensitively
    /// (`Connection: keep-alive, Upgrade` contains "upgrade").
    public func containsToken(_ token: String, for name: String) -> Bool {
        for field in fields where ASCII.equalsIgnoringCase(field.name, name) {
            for element in field.value.utf8.split(separator: ASCII.comma, omittingEmptySubsequences: true)
            where ASCII.equalsIgnoringCase(ASCII.trimmingWhitespace(element), token.utf8) {
                return true
            }
        }
        return false
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every `name` field with one holding `value`.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { ASCII.equalsIgnoringCase($0.name, name) }
    }

    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}
