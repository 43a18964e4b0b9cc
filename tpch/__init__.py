"""tpch"""
