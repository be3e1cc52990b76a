"""URLs of the workbench pages (mounted at the site root, before ``intake``'s, so ``/calls/<id>``
— the URL the call-centre hook hands out as ``intake:call_page`` — opens the agent's console)."""

from __future__ import annotations

from django.urls import path

from workbench.views import calls, detail, exports, queues, resident

app_name = "workbench"

urlpatterns = [
    # the hotline agent's console
    path("calls/new/", calls.call_new, name="call_new"),
    path("calls/new/register/", calls.call_register, name="call_new_register"),
    path("calls/new/attach/<int:order_pk>/", calls.call_attach, name="call_new_attach"),
    path("calls/new/answer/<int:knowledge_pk>/", calls.call_answer, name="call_new_answer"),
    path("calls/<int:pk>", calls.call_page, name="call"),
    path("calls/<int:pk>/register/", calls.call_register, name="call_register"),
    path("calls/<int:pk>/attach/<int:order_pk>/", calls.call_attach, name="call_attach"),
    path("calls/<int:pk>/answer/<int:knowledge_pk>/", calls.call_answer, name="call_answer"),
    path("workbench/items/", calls.item_results, name="item_results"),
    path("workbench/addresses/", calls.address_options, name="address_options"),
    path("workbench/history/", calls.caller_history, name="caller_history"),
    path("calls/<str:ref>/context/", calls.call_context, name="call_context"),
    path("calls/<str:ref>/knowledge/", calls.knowledge_results, name="knowledge_results"),
    # queues
    path("dispatch/", queues.dispatch_queue, name="dispatch_queue"),
    path("dispatch/batch/", queues.dispatch_batch, name="dispatch_batch"),
    path("inbox/", queues.handler_inbox, name="handler_inbox"),
    path("inbox/<int:pk>/accept/", queues.inbox_accept, name="inbox_accept"),
    path("callbacks/", queues.callback_queue, name="callback_queue"),
    path("supervision/", queues.supervision_board, name="supervision_board"),
    path("supervision/<int:pk>/urge/", queues.board_urge, name="board_urge"),
    path("orders/", queues.order_list, name="order_list"),
    # bulk export of the order search (PI-4)
    path("exports/", exports.export_list, name="export_list"),
    path("exports/new/", exports.export_request, name="export_request"),
    path("exports/<int:pk>/decide/", exports.export_decide, name="export_decide"),
    path("exports/<int:pk>/download/", exports.export_download, name="export_download"),
    # one order
    path("orders/<int:pk>/", detail.order_detail, name="order_detail"),
    path("orders/<int:pk>/do/<slug:action>/", detail.order_action, name="order_action"),
    path("orders/<int:pk>/units/", detail.unit_results, name="unit_results"),
    # residents (no account)
    path("report/", resident.report, name="report"),
    path("report/locate/", resident.locate, name="report_locate"),
    path("follow/", resident.follow, name="follow"),
    path("follow/rate/", resident.rate, name="follow_rate"),
]
