@testable import Hub
import XCTest

/// The per-connection token buckets, driven by an explicit clock (no sleeping, no timing).
final class ClientBudgetTests: XCTestCase {
    func testBurstThenRefillThenStrikesThenAbuse() {
        var limits = ClientBudgetLimits()
        limits.tokensPerS = 100
        limits.tokenBurst = 100
        limits.maxStrikes = 3
        var budget = ClientBudget(limits: limits, nowMs: 1000)
        // Ten subscribes spend the burst; pings stay free.
        for _ in 0..<10 { XCTAssertEqual(budget.charge(.subscribe, limits: limits, nowMs: 1000), .allowed) }
        XCTAssertEqual(budget.charge(.ping, limits: limits, nowMs: 1000), .allowed)
        XCTAssertEqual(budget.charge(.subscribe, limits: limits, nowMs: 1000), .refused)
        // 100 ms later 10 tokens are back: one more subscribe.
        XCTAssertEqual(budget.charge(.subscribe, limits: limits, nowMs: 1100), .allowed)
        XCTAssertEqual(budget.charge(.checkin, limits: limits, nowMs: 1100), .refused)
        XCTAssertEqual(budget.charge(nil, limits: limits, nowMs: 1100), .refused)
        // The fourth refusal within the window is abuse.
        XCTAssertEqual(budget.charge(.unsubscribe, limits: limits, nowMs: 1100), .abusive)
    }

    func testStrikesAreForgivenAfterTheWindow() {
        var limits = ClientBudgetLimits()
        limits.tokensPerS = 1
        limits.tokenBurst = 10
        limits.maxStrikes = 1
        limits.strikeWindowMs = 10_000
        var budget = ClientBudget(limits: limits, nowMs: 0)
        XCTAssertEqual(budget.charge(.subscribe, limits: limits, nowMs: 0), .allowed)
        XCTAssertEqual(budget.charge(.subscribe, limits: limits, nowMs: 0), .refused)
        XCTAssertEqual(budget.charge(.subscribe, limits: limits, nowMs: 10_000), .allowed)
        XCTAssertEqual(budget.charge(.subscribe, limits: limits, nowMs: 10_001), .refused, "a new window starts with no strikes")
    }

    func testByteBudgetAndLongIdleDoNotOverflow() {
        var limits = ClientBudgetLimits()
        limits.bytesPerS = 65_536
        var budget = ClientBudget(limits: limits, nowMs: 0)
        XCTAssertEqual(budget.chargeBytes(65_536, limits: limits, nowMs: 0), .allowed)
        XCTAssertEqual(budget.chargeBytes(1, limits: limits, nowMs: 0), .refused)
        XCTAssertEqual(budget.chargeBytes(65_536, limits: limits, nowMs: .max / 2), .allowed, "refilled to the cap, not beyond")
        XCTAssertEqual(budget.chargeBytes(1, limits: limits, nowMs: .max / 2), .refused)
    }
}
