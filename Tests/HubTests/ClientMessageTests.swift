@testable import Hub
import XCTest

final class ClientMessageTests: XCTestCase {
    private func parse(_ text: String) -> ClientMessage.Parsed {
        Array(text.utf8).withUnsafeBytes { ClientMessage.parse($0) }
    }

    private func fields(_ m: ClientMessage) -> [String?] { ["\(m.type)", m.id, m.classId, m.qr, m.code, m.since] }

    /// The fast scanner and the general parser agree on every message the scanner accepts.
    func testFastPathAgreesWithGeneralParser() {
        let corpus = [
            #"{"type":"ping","id":"3"}"#, #"{"type":"ping","id":3}"#, #"{"type":"ping"}"#,
            #" { "type" : "subscribe" , "class_id" : "c_8f2k" , "since" : "1732540000000-0" , "id" : "1" } "#,
            #"{"type":"checkin","class_id":"c1","qr":"c1.115502666.Zm9v","id":"2"}"#,
            #"{"type":"checkin","class_id":"c1","code":"012345","extra":true,"n":null,"x":0}"#,
            #"{"id":null,"type":"ping","type":"unsubscribe","class_id":"é"}"#,
        ]
        for text in corpus {
            let fast = Array(text.utf8).withUnsafeBytes { ClientMessage.scanFlat($0) }
            XCTAssertNotNil(fast, text)
            guard case .message(let general) = Array(text.utf8).withUnsafeBytes({ ClientMessage.parseGeneral($0) }) else {
                return XCTFail("general parser refused \(text)")
            }
            XCTAssertEqual(fields(fast!), fields(general), text)
        }
    }

    /// The keep-alive shortcut answers exactly what the parser would (the id as sent) and leaves
    /// every other shape to the parser.
    func testPlainPingAgreesWithParserAndRefusesAnythingElse() {
        for text in [#"{"type":"ping"}"#, #"{"type":"ping","id":"k"}"#, #"{"type":"ping","id":""}"#,
                     #"{"type":"ping","id":"c_8f2k.1:x-Y"}"#] {
            let token = Array(text.utf8).withUnsafeBytes { ClientMessage.plainPing($0).map { Array($0) } }
            guard case .message(let parsed) = parse(text) else { return XCTFail(text) }
            XCTAssertEqual(parsed.type, .ping, text)
            XCTAssertEqual(token.map { String(decoding: $0, as: UTF8.self) }, parsed.id ?? "", text)
        }
        for text in [#"{"type":"ping","id":3}"#, #"{"type":"ping","id":"a"b"}"#, #"{"type":"ping","id":"a b"}"#,
                     #"{"type":"ping","id":"k"} "#, #"{"type":"ping" }"#, #"{"id":"k","type":"ping"}"#,
                     #"{"type":"pings"}"#, #"{"type":"ping","id":"k","x":1}"#, #"{"type":"ping","id":"k"}"}"#,
                     #"{"type":"ping""#, #"{"type":"ping","id":"}"#, "", "{"] {
            XCTAssertNil(Array(text.utf8).withUnsafeBytes { ClientMessage.plainPing($0) }, text)
        }
    }

    /// Escapes, nesting and invalid JSON go to the general parser, which explains errors.
    func testFallbackAndErrors() {
        guard case .message(let number) = parse(#"{"type":"ping","id":-1.5e3}"#) else { return XCTFail() }
        XCTAssertEqual(number.id, "-1.5e3", "a numeric id is echoed exactly as sent")
        guard case .message(let escaped) = parse(#"{"type":"ping","id":"a\"b"}"#) else { return XCTFail() }
        XCTAssertEqual(escaped.id, #""a\"b""#)
        guard case .message(let nested) = parse(#"{"type":"ping","meta":{"a":[1,2]},"id":7}"#) else { return XCTFail() }
        XCTAssertEqual(nested.id, "7")
        let invalid: [(String, String)] = [
            ("{", "invalid_json"), (#"{"type":"ping",}"#, "invalid_json"), (#"{"type":"ping"} x"#, "invalid_json"),
            ("[1]", "bad_request"), (#"{"id":"1"}"#, "bad_request"), (#"{"type":5}"#, "bad_request"),
            (#"{"type":"ping","id":true}"#, "bad_request"), (#"{"type":"ping","id":{}}"#, "bad_request"),
            (#"{"type":"subscribe","class_id":12}"#, "bad_request"), (#"{"type":"ping","id":01}"#, "invalid_json"),
        ]
        for (text, code) in invalid {
            guard case .invalid(let error, _) = parse(text) else { XCTFail("accepted \(text)"); continue }
            XCTAssertEqual(error.code, code, text)
        }
    }
}
