"""executor/kernels"""
