// Hub module: see docs/ARCHITECTURE.md
