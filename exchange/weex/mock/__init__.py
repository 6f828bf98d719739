"""The loopback WEEX: a FastAPI server that speaks WEEX v2 (signatures verified, WEEX's shapes),
keeps accounts, orders and positions, fills against a replayed price path, and injects faults.

Its matching engine is ``VirtualExchange`` (the project's 1-minute-bar matcher): the mock adds
WEEX's wire format, authentication, ids, plan/TP-SL orders and faults on top. So a scenario run
through ``WeexExchange`` against the mock and through ``VirtualExchange`` directly can be
compared fill for fill; the comparison tests the WEEX layer, not a second matching engine.
"""
