"""Reading the spreadsheets brokers export: xlsx, xls and csv as tables of canonical fields.

`fields` names what each kind of input holds and the headers it may go by, `read` opens a
file and finds its header row, `values` turns raw cells into clean values. Nothing here
touches the database.
"""
