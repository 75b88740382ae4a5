// The ReplicaStore module. See Package.swift for its place in the layering.
