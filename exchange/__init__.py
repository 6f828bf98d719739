"""The exchange contract and its implementations (virtual, WEEX) and the executor."""
