import Foundation
import TestSupport
import XCTest

/// A hub `kill -9` with two hub processes on one address (`--reuse-port`): the clients of the dead
/// one reconnect to the live one, dashboards resume with `since`, and nothing is lost or repeated.
final class HubKillTests: FaultTestCase {
    func testKill9OfOneOfTwoHubsOnOneAddressLosesNothing() throws {
        let first = try startHub(extra: ["--reuse-port"])
        let second = try startHub(port: first.port, extra: ["--reuse-port"])
        let api = try startAPI()
        // 8 dashboards and 200 devices spread by the kernel over both hubs: some are on the one killed.
        let result = try runLoad(["classroom", "--classes", "8", "--students", "25", "--window-s", "4",
                                  "--hub", "ws://\(first.address)", "--api", "http://\(api.address)",
                                  "--chaos", "kill-hub@1.5s", "--hub-pid", String(first.pid), "--hub-pid", String(second.pid),
                                  "--ack-timeout-s", "15"])
        try assertNothingLost(result, checkins: 200)
        XCTAssertFalse(first.isRunning)
        XCTAssertGreaterThan(fault(result.json)?["reconnects"] as? Int ?? 0, 0, "clients of the killed hub reconnected\n" + result.stderr)
        XCTAssertTrue(second.isRunning)
    }
}
