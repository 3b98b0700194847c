"""The language: grammar (smtql.lark), parser (text → AST), the AST, the
binder (variables, relative dates) and unparse (AST → text)."""
