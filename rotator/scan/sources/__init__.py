"""Where bytes come from: files and directories, the staged index, git history."""
