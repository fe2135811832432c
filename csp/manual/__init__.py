"""Ticket-based providers (IBM, Alibaba until their adapters exist): constraints as data."""
