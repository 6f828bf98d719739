"""WEEX contract API v2: signing, typed errors, the REST client, ``WeexExchange``, the loopback
WEEX (``exchange.weex.mock``) and the AI-log uploader.

Built from ``../shared/reference/weex-api.md``; every point that document marks INFERRED is a
field of ``exchange.weex.config.WeexConfig`` (or of the mock's ``MockConfig``) rather than a
constant. Like the rest of ``exchange/``, nothing here imports another project package.
"""
