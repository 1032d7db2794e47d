extension RedisCluster {
    /// SCAN walks one master after the other; the cursor handed out is `<master index>:<cursor>`
    /// (`0` still starts and ends the walk). Masters are taken in sorted order, so a cursor stays
    /// meaningful while the map does not change; a walk across a fail-over may miss or repeat keys,
    /// as SCAN may.
    func scan(_ args: [[UInt8]], completion: @escaping Completion) {
        let cursor = String(decoding: args[1], as: UTF8.self)
        var index = 0
        var nodeCursor = "0"
        if cursor != "0" {
            let parts = cursor.split(separator: ":")
            guard parts.count == 2, let i = Int(parts[0]), i >= 0 else { return completion(.failure(.reply("ERR invalid cursor")), nil) }
            index = i
            nodeCursor = String(parts[1])
        }
        let masters = topology.masters
        guard index < masters.count else { return completion(index == 0 ? .failure(.disconnected) : .success(.array([.string(Array("0".utf8)), .array([])])), nil) }
        let target = node(masters[index])
        var forward = args
        forward[1] = Array(nodeCursor.utf8)
        RedisClient.send(on: target, bytes: forward) { result in
            guard case .success(let reply) = result, var items = reply.array, items.count == 2, let next = items[0].text else {
                return completion(result, target)
            }
            let combined = next != "0" ? "\(index):\(next)" : index + 1 < masters.count ? "\(index + 1):0" : "0"
            items[0] = .string(Array(combined.utf8))
            completion(.success(.array(items)), target)
        }
    }
}
