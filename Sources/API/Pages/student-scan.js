// Scanning the room's QR inside the page, where the browser has BarcodeDetector (Chrome on Android,
// for one). Elsewhere the phone's own camera app opens the QR's URL, which is this page too.
"use strict";
self.AttendanceScan = (() => {
  const available = () => "BarcodeDetector" in self && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);

  /// Opens the back camera in `video` until a QR holding one of this server's check-in URLs is seen;
  /// resolves with that URL, or null when stopped.
  async function scan(video, stopSignal) {
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    try {
      while (!stopSignal.stopped) {
        const codes = await detector.detect(video).catch(() => []);
        for (const c of codes) {
          try {
            const url = new URL(c.rawValue);
            if (url.origin === location.origin && url.pathname === "/checkin" && url.searchParams.get("qr")) return url.href;
          } catch { /* not a URL: someone else's QR */ }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      return null;
    } finally {
      for (const t of stream.getTracks()) t.stop();
      video.srcObject = null;
      video.hidden = true;
    }
  }

  return { available, scan };
})();
