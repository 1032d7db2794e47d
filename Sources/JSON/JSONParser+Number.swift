/// Numbers: RFC 8259 grammar `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read in one pass.
/// Integers that fit `Int64` come out exact. Other numbers take the exact fast path when the digits
/// and the power of ten are both exactly representable as `Double`s (Clinger's method), and the
/// standard library's correctly rounded conversion otherwise.
extension JSONParser {
    /// Digits beyond this many may not fit the UInt64 accumulator.
    private static let maxAccumulatedDigits = 19
    /// Exponents are clamped here while reading: the value is already 0 or infinite long before.
    private static let exponentClamp = 100_000

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = position
        let negative = base[position] == UInt8(ascii: "-")
        if negative { position += 1 }

        var significand: UInt64 = 0
        var digits = 0  // significant digits accumulated in `significand`
        var truncated = false  // more significant digits than `significand` holds
        var decimalExponent = 0

        guard position < end, Self.isDigit(base[position]) else { throw error(JSONError.invalidNumber) }
        if base[position] == UInt8(ascii: "0") {
            position += 1
            if position < end && Self.isDigit(base[position]) {
                throw JSONError(offset: start, reason: JSONError.leadingZero)
            }
        } else {
            while position < end, Self.isDigit(base[position]) {
                if digits < Self.maxAccumulatedDigits {
                    significand = significand * 10 + UInt64(base[position] &- 0x30)
                    digits += 1
                } else {
                    truncated = true
                }
                position += 1
            }
        }

        var isInteger = true
        if position < end && base[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < end, Self.isDigit(base[position]) else { throw error(JSONError.invalidNumber) }
            while position < end, Self.isDigit(base[position]) {
                let digit = UInt64(base[position] &- 0x30)
                if significand == 0 && digit == 0 {
                    decimalExponent -= 1  // a leading zero of the fraction is not significant
                } else if digits < Self.maxAccumulatedDigits {
                    significand = significand * 10 + digit
                    digits += 1
                    decimalExponent -= 1
                } else {
                    truncated = true
                }
                position += 1
            }
        }

        if position < end && (base[position] == UInt8(ascii: "e") || base[position] == UInt8(ascii: "E")) {
            isInteger = false
            position += 1
            var exponentNegative = false
            if position < end && (base[position] == UInt8(ascii: "+") || base[position] == UInt8(ascii: "-")) {
                exponentNegative = base[position] == UInt8(ascii: "-")
                position += 1
            }
            guard position < end, Self.isDigit(base[position]) else { throw error(JSONError.invalidNumber) }
            var exponent = 0
            while position < end, Self.isDigit(base[position]) {
                exponent = min(exponent * 10 + Int(base[position] &- 0x30), Self.exponentClamp)
                position += 1
            }
            decimalExponent += exponentNegative ? -exponent : exponent
        }

        if isInteger && !truncated {
            if negative {
                // -0 stays a double so that its sign survives a round trip.
                if significand != 0 && significand <= UInt64(Int64.max) + 1 {
                    return .int(Int64(bitPattern: 0 &- significand))
                }
            } else if significand <= UInt64(Int64.max) {
                return .int(Int64(significand))
            }
        }

        let value: Double
        if !truncated && significand < (1 << 53) && (-22...22).contains(decimalExponent) {
            // Both operands are exact, so one IEEE operation gives the correctly rounded result.
            let magnitude = Double(significand)
            let power = Self.powersOfTen[abs(decimalExponent)]
            value = decimalExponent < 0 ? magnitude / power : magnitude * power
            return .double(negative ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: position - start), as: UTF8.self)
        guard let parsed = Double(text) else {
            throw JSONError(offset: start, reason: JSONError.invalidNumber)
        }
        guard parsed.isFinite else { throw JSONError(offset: start, reason: JSONError.numberOutOfRange) }
        return .double(parsed)
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// 10^0 … 10^22, every one exactly representable as a Double.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
