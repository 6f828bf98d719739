"""Read the world without look-ahead: stores, indicators, correlation, news scoring, universe."""
