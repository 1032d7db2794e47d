// `attendance-load`: the load tool of PROTOCOL.md "Command line". Parsing and dispatch live in
// LoadCommand.swift; each scenario drives its clients on one event loop.
LoadCommand.main()
