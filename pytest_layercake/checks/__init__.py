"""The generic proofs, one module per concern; they learn about the app only from the contract (layercake.toml)."""
