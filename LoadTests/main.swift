print("attendance-load")
