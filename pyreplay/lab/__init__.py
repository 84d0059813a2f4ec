"""The lab: network-namespace topology, servers and bounded load for the demo and the tests."""
