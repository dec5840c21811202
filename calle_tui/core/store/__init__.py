"""What is kept on disk: the journal of plans and runs (`journal`) and who owns a run (`owners`), drafts
(`drafts`), private files and folders (`private`), and the redacted log (`logs`)."""
