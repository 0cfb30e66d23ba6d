"""webmaps"""
