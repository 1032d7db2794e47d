#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ with the parser sources they exercise and runs each for
# ${FUZZ_SECONDS:-60} s. Usage: scripts/fuzz.sh [http|websocket|all]. Crashes land in var/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
out=var/fuzz
mkdir -p "$out"
export SWIFT_BACKTRACE=enable=no
flags=(-parse-as-library -sanitize=fuzzer,address -O -g)
if [[ $what == http || $what == all ]]; then
  http=(BodyFraming ByteClasses ChunkedDecoder HTTPClientResponse HTTPHeaders HTTPLimits HTTPParseError HTTPReasonPhrase
        HTTPRequest HTTPRequestParser HTTPResponse HTTPResponseParser HTTPVersion JSONEscaping MessageHead
        MessageHeadScanner MessageParserCore PercentDecoding)
  files=(); for f in "${http[@]}"; do files+=("Sources/HTTP/$f.swift"); done
  swiftc "${flags[@]}" "${files[@]}" Fuzz/HTTPRequestParserFuzz.swift -o "$out/http-fuzz" 2>&1 | sed 's/^/  /'
  mkdir -p "$out/http-corpus"
  printf 'GET /v1/classes/c1?x=1 HTTP/1.1\r\nHost: a\r\n\r\n' > "$out/http-corpus/get"
  printf 'POST /v1/join HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n' > "$out/http-corpus/chunked"
  "$out/http-fuzz" -max_total_time="${FUZZ_SECONDS:-60}" -artifact_prefix="$out/http-" "$out/http-corpus"
fi
if [[ $what == websocket || $what == all ]]; then
  ws=(PartialBuffer UTF8Validator WebSocketCloseCode WebSocketError WebSocketEvent WebSocketFrameParser WebSocketMask
      WebSocketOpcode WebSocketScratch)
  files=(); for f in "${ws[@]}"; do files+=("Sources/WebSocket/$f.swift"); done
  swiftc "${flags[@]}" "${files[@]}" Fuzz/WebSocketFrameParserFuzz.swift -o "$out/ws-fuzz" 2>&1 | sed 's/^/  /'
  mkdir -p "$out/ws-corpus"
  printf '\x05\x81\x85\x01\x02\x03\x04\x69\x67\x6f\x68\x6e' > "$out/ws-corpus/text"
  printf '\x03\x01\x82\x00\x00\x00\x00\xc3\x80\x89\x80\x00\x00\x00\x00\x80\x81\x00\x00\x00\x00\xa9' > "$out/ws-corpus/fragmented"
  "$out/ws-fuzz" -max_total_time="${FUZZ_SECONDS:-60}" -artifact_prefix="$out/ws-" "$out/ws-corpus"
fi
