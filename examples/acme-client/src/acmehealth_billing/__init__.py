"""Acme Health billing: invoices for patients of Acme Health GmbH."""
