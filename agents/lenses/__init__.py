"""The offline desk's lenses: one module per seat's way of reading the memo, plus the interrupt
rules (``interrupts``) and the answers to them (``answers``). ``agents.policies`` dispatches."""
