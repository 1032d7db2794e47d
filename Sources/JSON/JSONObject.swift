/// A JSON object: members in insertion order, looked up by key.
///
/// Keys are unique; setting an existing key replaces its value in place (so a parsed document with
/// duplicate keys keeps the position of the first and the value of the last). Objects with up to
/// 16 members are a plain array searched linearly, which for the 2–5 member
/// messages on the hub's hot path is cheaper than hashing; larger ones also keep a key → position
/// index. Two objects are equal when they have the same members, whatever their order.
public struct JSONObject: Equatable, Sendable, Sequence {
    public typealias Element = (key: String, value: JSONValue)

    /// Past this many members a lookup by linear scan costs more than hashing the key.
    static let linearScanLimit = 16

    private var pairs: [Element]
    /// Position of each key in `pairs`; nil while the object is small enough to scan.
    private var index: [String: Int]?

    /// An object with the given members in order; a later duplicate key replaces the earlier value.
    public init(_ pairs: [(String, JSONValue)] = []) {
        self.pairs = []
        self.pairs.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    /// The parser's constructor: takes ownership of `count` initialized members at `members` (leaving
    /// that memory uninitialized) with one exactly sized allocation; duplicates resolve as "last wins".
    init(moving members: UnsafeMutablePointer<Element>, count: Int) {
        // reserveCapacity + append specializes fully; Array(unsafeUninitializedCapacity:) was seen
        // looking up generic metadata on every call.
        pairs = []
        pairs.reserveCapacity(count)
        index = nil
        if count <= Self.linearScanLimit && !Self.hasDuplicateKeys(members, count: count) {
            for i in 0..<count { pairs.append((members + i).move()) }
            return
        }
        for i in 0..<count {
            let member = (members + i).move()
            self[member.key] = member.value
        }
    }

    private static func hasDuplicateKeys(_ members: UnsafeMutablePointer<Element>, count: Int) -> Bool {
        var i = 1
        while i < count {
            for j in 0..<i where members[i].key == members[j].key { return true }
            i += 1
        }
        return false
    }

    /// The value for `key`; assigning nil removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = position(of: key) else { return nil }
            return pairs[i].value
        }
        set {
            if let newValue {
                if let i = position(of: key) {
                    pairs[i].value = newValue
                } else {
                    pairs.append((key, newValue))
                    if index != nil {
                        index![key] = pairs.count - 1
                    } else if pairs.count > Self.linearScanLimit {
                        rebuildIndex()
                    }
                }
            } else if let i = position(of: key) {
                pairs.remove(at: i)
                if index != nil { rebuildIndex() }
            }
        }
    }

    /// The keys in insertion order.
    public var keys: [String] { pairs.map(\.key) }

    public var count: Int { pairs.count }

    public func makeIterator() -> IndexingIterator<[Element]> { pairs.makeIterator() }

    public var underestimatedCount: Int { pairs.count }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.pairs.count == rhs.pairs.count else { return false }
        // Objects built the same way usually list their keys in the same order: compare pairwise
        // until the orders differ, then look the rest up. Keys are unique and the counts equal, so
        // finding every remaining member of lhs in rhs proves the key sets equal.
        var i = 0
        while i < lhs.pairs.count && lhs.pairs[i].key == rhs.pairs[i].key {
            guard lhs.pairs[i].value == rhs.pairs[i].value else { return false }
            i += 1
        }
        while i < lhs.pairs.count {
            guard rhs[lhs.pairs[i].key] == lhs.pairs[i].value else { return false }
            i += 1
        }
        return true
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        for i in pairs.indices where pairs[i].key == key { return i }
        return nil
    }

    private mutating func rebuildIndex() {
        guard pairs.count > Self.linearScanLimit else {
            index = nil
            return
        }
        var index = [String: Int](minimumCapacity: pairs.count)
        for i in pairs.indices { index[pairs[i].key] = i }
        self.index = index
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }
}
