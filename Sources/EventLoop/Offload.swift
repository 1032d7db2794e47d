@preconcurrency import CLibUV

extension EventLoop {
    /// Runs `work` on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) and
    /// then `completion` with its value on this loop. For CPU-heavy steps (password hashing) that
    /// would otherwise stall every connection of the loop. Callers bound how many they queue.
    public func offload<T: Sendable>(_ work: @escaping @Sendable () -> T, completion: @escaping (T) -> Void) {
        let box = ResultBox<T>()
        let job = OffloadJob(run: { box.value = work() }, finish: { if let value = box.value { completion(value) } })
        let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        request.initialize(to: uv_work_t())
        // The job is retained until after_work_cb, which libuv always calls once the work ran.
        request.pointee.data = Unmanaged.passRetained(job).toOpaque()
        let rc = uv_queue_work(uv, request, { request in
            Unmanaged<OffloadJob>.fromOpaque(request!.pointee.data).takeUnretainedValue().run()
        }, { request, _ in
            let job = Unmanaged<OffloadJob>.fromOpaque(request!.pointee.data).takeRetainedValue()
            request!.deinitialize(count: 1)
            request!.deallocate()
            job.finish()
        })
        precondition(rc == 0, "uv_queue_work failed: \(rc)")
    }
}

/// Written by the pool thread, read on the loop thread after libuv hands the request back (libuv's
/// queue mutex orders the two), hence unchecked.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// One offloaded computation: `run` on a pool thread, then `finish` on the loop thread. Nothing is
/// ever cancelled, so `finish` always follows `run`.
private final class OffloadJob: @unchecked Sendable {
    let run: () -> Void
    let finish: () -> Void

    init(run: @escaping () -> Void, finish: @escaping () -> Void) {
        self.run = run
        self.finish = finish
    }
}
