"""The dashboard's pages (Streamlit layout and widgets); ``dashboard.py`` picks one per run."""
