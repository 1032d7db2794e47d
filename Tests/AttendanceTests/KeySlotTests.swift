@testable import Attendance
import RedisClient
import XCTest

/// Redis Cluster runs a script only when all its keys (and shard channels) share one slot.
final class KeySlotTests: XCTestCase {
    func testEveryClassKeyAndTheLiveChannelShareTheClassSlot() {
        for classId in ["c_el6gnmq2qz", "c_a", "c_0123456789abcdef"] {
            let slot = ClusterSlot.of(classId)
            let keys = Keys.classKeys(classId) + [Keys.purged(classId), Keys.live(classId)]
            XCTAssertEqual(keys.count, 9)
            for key in keys { XCTAssertEqual(ClusterSlot.of(key), slot, key) }
        }
        // A refresh-session family is its own slot, tag included.
        XCTAssertEqual(ClusterSlot.of(Keys.session(family: "f123")), ClusterSlot.of("f123"))
    }
}
