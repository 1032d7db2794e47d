import Dispatch
import Foundation
import Glibc
import TestSupport
import XCTest

/// The product on a real local Redis Cluster (three masters, three replicas): the classroom flow
/// through hubs and the api, a master killed with `kill -9` under load (its replica takes over, no
/// acknowledged check-in lost with `--durability replica`), and slots migrated under load (no event
/// lost or repeated). The real `attendance-load` drives each run and checks every invariant.
final class RedisClusterTests: FaultTestCase {
    var cluster: LocalRedisCluster!

    override func tearDown() {
        super.tearDown()
        cluster?.stop()
        cluster = nil
    }

    private func startClusterHub(port: Int? = nil, extra: [String] = []) throws -> AttendanceProcess {
        let hub = try AttendanceProcess("hub", redisArguments: ["--redis-cluster", cluster.nodeList], port: port, extra: extra, logLevel: "error")
        processes.append(hub)
        return hub
    }

    private func startClusterAPI(extra: [String] = []) throws -> AttendanceProcess {
        let api = try AttendanceProcess("api", redisArguments: ["--redis-cluster", cluster.nodeList],
                                        extra: ["--join-limit-per-address", "100000", "--join-limit-per-code", "100000"] + extra, logLevel: "error")
        processes.append(api)
        return api
    }

    /// The load tool on another thread, so the test can act on the cluster while it runs.
    private final class BackgroundLoad: @unchecked Sendable {
        private var outcome: Result<(status: Int32, json: [String: Any]?, stderr: String), Error>?
        private let done = DispatchSemaphore(value: 0)

        init(_ arguments: [String], directory: String) {
            DispatchQueue.global().async {
                self.outcome = Result { try FaultTestCase.runLoad(arguments, directory: directory) }
                self.done.signal()
            }
        }

        func wait() throws -> (status: Int32, json: [String: Any]?, stderr: String) {
            done.wait()
            return try outcome!.get()
        }
    }

    /// Waits until the load tool has created `count` classes; their ids by master port.
    private func classes(count: Int) throws -> [Int: [String]] {
        var found: [Int: [String]] = [:]
        XCTAssertTrue(waitUntil(timeout: 60) {
            found = self.cluster.classes()
            return found.values.reduce(0) { $0 + $1.count } == count
        }, "classes created: \(found)")
        return found
    }

    func testAttendanceFlowThroughTheCluster() throws {
        cluster = try LocalRedisCluster()
        let hub = try startClusterHub(extra: ["--workers", "2", "--reuse-port"])
        _ = try startClusterHub(port: hub.port, extra: ["--workers", "2", "--reuse-port"])
        let api = try startClusterAPI()
        let result = try runLoad(["classroom", "--classes", "9", "--students", "10", "--window-s", "3",
                                  "--hub", "ws://\(hub.address)", "--api", "http://\(api.address)"])
        try assertNothingLost(result, checkins: 90)
        let classes = cluster.classes()
        XCTAssertEqual(classes.values.reduce(0) { $0 + $1.count }, 9)
        XCTAssertGreaterThanOrEqual(classes.values.filter { !$0.isEmpty }.count, 2, "classes live on several masters: \(classes)")

        // An admin command on the cluster: purge walks every master (nothing is old enough to go).
        let purge = Process()
        purge.executableURL = URL(fileURLWithPath: AttendanceProcess.executable)
        purge.arguments = ["purge", "--older-than", "400d", "--redis-cluster", cluster.nodeList, "--log-level", "error"]
        let output = Pipe()
        purge.standardOutput = output
        try purge.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        purge.waitUntilExit()
        XCTAssertEqual(purge.terminationStatus, 0, printed)
        XCTAssertEqual(cluster.classes().values.reduce(0) { $0 + $1.count }, 9)
    }

    func testMasterKill9ReplicaPromotedNoAcknowledgedCheckinLost() throws {
        cluster = try LocalRedisCluster(durable: true)
        let hub = try startClusterHub(extra: ["--durability", "replica"])
        let api = try startClusterAPI(extra: ["--durability", "replica"])
        // The victim is chosen once the classes exist: the master holding most of them. The load
        // tool reads its pid and restart command from these files when the fault fires.
        let pidFile = redis.directory + "/victim.pid"
        let restartScript = redis.directory + "/restart-victim.sh"
        // 240 check-ins over 6 s; the master dies 2 s in and comes back 4 s later (as a replica
        // of the node that took over, from its own AOF).
        let load = BackgroundLoad(["classroom", "--classes", "12", "--students", "20", "--window-s", "6",
                                   "--hub", "ws://\(hub.address)", "--api", "http://\(api.address)",
                                   "--chaos", "kill-redis@2s+4s", "--redis-pid-file", pidFile,
                                   "--redis-restart", "sh '\(restartScript)'", "--ack-timeout-s", "30"],
                                  directory: redis.directory)
        let classes = try classes(count: 12)
        let victimPort = try XCTUnwrap(classes.max { $0.value.count < $1.value.count }?.key)
        let victim = try XCTUnwrap(cluster.server(port: victimPort))
        let slot = cluster.slot(of: "att:{\(classes[victimPort]![0])}:meta")
        try victim.restartCommand.write(toFile: restartScript, atomically: true, encoding: .utf8)
        try String(victim.pid).write(toFile: pidFile, atomically: true, encoding: .utf8)

        let result = try load.wait()
        try assertNothingLost(result, checkins: 240)
        XCTAssertEqual(fault(result.json)?["fault"] as? String, "kill-redis")
        XCTAssertNotNil(fault(result.json)?["recover_ms"] as? Int, "writes resumed\n" + result.stderr)
        let owner = try XCTUnwrap(cluster.master(ofSlot: slot))
        XCTAssertNotEqual(owner.port, victimPort, "the replica took over the killed master's slots")
        XCTAssertTrue(waitUntil(timeout: 30) { self.cluster.isHealthy(replicas: 3) }, "the old master rejoined as a replica")
    }

    func testSlotMigrationDuringLoadLosesAndRepeatsNothing() throws {
        cluster = try LocalRedisCluster()
        let hub = try startClusterHub(extra: ["--workers", "2"])
        let api = try startClusterAPI()
        let load = BackgroundLoad(["classroom", "--classes", "9", "--students", "20", "--window-s", "6", "--retry",
                                   "--hub", "ws://\(hub.address)", "--api", "http://\(api.address)", "--ack-timeout-s", "20"],
                                  directory: redis.directory)
        let classes = try classes(count: 9)
        // Three classes' slots move to another master while their check-ins arrive.
        let moving = Array(classes.values.flatMap { $0 }.prefix(3))
        let first = try XCTUnwrap(moving.first)
        XCTAssertTrue(waitUntil(timeout: 30) {
            self.cluster.servers[0].cliArguments(["-c", "XRANGE", "att:{\(first)}:events", "-", "+"]).contains("checked_in")
        }, "check-ins under way")
        var moved: [(slot: Int, to: Int)] = []
        for classId in moving {
            let slot = cluster.slot(of: "att:{\(classId)}:meta")
            let source = try XCTUnwrap(cluster.master(ofSlot: slot))
            let target = try XCTUnwrap(cluster.nodes().first { $0.isMaster && !$0.slots.isEmpty && $0.id != source.id })
            try cluster.migrate(slot: slot, to: target)
            moved.append((slot, target.port))
        }
        let result = try load.wait()
        try assertNothingLost(result, checkins: 180)
        for (slot, port) in moved { XCTAssertEqual(cluster.master(ofSlot: slot)?.port, port, "slot \(slot) moved") }
    }
}
