/// The deadlines of the replies a connection still waits for, oldest first. Redis answers in order,
/// so each reply settles the oldest entry. Commands sent in the same loop turn share one deadline,
/// stored once with a count: a pipeline of thousands costs one entry.
struct DeadlineQueue {
    private var runs: [(deadline: UInt64, count: Int)] = []
    private var head = 0

    var isEmpty: Bool { head == runs.count }
    /// The oldest deadline.
    var first: UInt64? { isEmpty ? nil : runs[head].deadline }

    mutating func append(_ deadline: UInt64, count: Int = 1) {
        guard count > 0 else { return }
        if !isEmpty, runs[runs.count - 1].deadline == deadline {
            runs[runs.count - 1].count += count
        } else {
            runs.append((deadline, count))
        }
    }

    /// One reply arrived.
    mutating func removeFirst() {
        guard !isEmpty else { return }
        runs[head].count -= 1
        guard runs[head].count == 0 else { return }
        head += 1
        if head == runs.count {
            runs.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= runs.count {
            runs.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        runs.removeAll(keepingCapacity: true)
        head = 0
    }
}
