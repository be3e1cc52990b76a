"""Views of the workbench pages, one module per desk. Each view parses input, calls one service
(or a composite of ``workbench.services``) and renders; every read goes through a selector."""
