"""MPM Lift runtime: skeleton layouts, the MPM network, inference, protocol, server and client."""

__version__ = "0.1.0"
