"""The local gateway between coding agents and model providers: inspect, pseudonymize, forward, restore."""
