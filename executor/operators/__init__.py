"""executor/operators"""
