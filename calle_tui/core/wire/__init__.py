"""The wire: what CALL-E sends and how it is read. The tool contract (`contract`), the one reader of tool
replies (`envelope.read_reply`) and its parts (`replies`, `status`, `activity`, `transcript`, `values`), and
the words a refusal maps to (`wording`). Nothing outside this package looks at a reply's raw structure."""
