import HTTP

extension APIHandlers {
    /// `GET /healthz`: 200 while the Redis connection is up and answering, 503 while it is down or
    /// stalled (the API can answer nothing useful without it), so a load balancer takes the process
    /// out of rotation.
    func health(_ exchange: Exchange) {
        let up = store.redis.isHealthy
        let body = up ? #"{"status":"ok","redis":"ok"}"# : #"{"status":"unavailable","redis":"down"}"#
        exchange.json(up ? 200 : 503, Array(body.utf8))
    }

    /// `GET /metrics`: Prometheus text format.
    func metricsText(_ exchange: Exchange) {
        let text = metrics.prometheusText(redisReconnects: store.redis.reconnects, redisConnected: store.redis.isConnected)
        exchange.send(HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                                   body: Array(text.utf8)))
    }
}
