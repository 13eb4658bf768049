"""The local launcher: the whole mesh on one machine as background processes (`make run`)."""
