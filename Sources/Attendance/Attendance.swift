// Attendance module: see docs/ARCHITECTURE.md
