"""Widgets shared by several screens: the header line, the yes/no question modal, the list of calls still
followed (live_calls), the cell-cached table of the calls board, the command palette's key provider and the
sign-in link's QR code."""
