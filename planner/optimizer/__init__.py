"""planner/optimizer"""
