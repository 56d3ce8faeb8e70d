from django.urls import path

from elections.views import (
    complaints,
    inbox,
    member,
    nominations,
    proxies,
    register,
    secretary,
    voting,
)

urlpatterns = [
    path("", member.home, name="home"),
    path("contests/<int:pk>/", member.contest_detail, name="contest"),
    path("contests/<int:pk>/results/", member.results, name="results"),
    path("contests/<int:pk>/receipt/", member.receipt_check, name="receipt_check"),
    path("contests/<int:pk>/complain/", complaints.complaint_lodge, name="complaint_lodge"),
    path("contests/<int:pk>/rulings/", complaints.contest_rulings, name="contest_rulings"),
    path("polls/<int:pk>/ballot/", voting.BallotView.as_view(), name="ballot"),
    path(
        "polls/<int:pk>/ballot/proxy/<int:principal>/",
        voting.BallotView.as_view(),
        name="proxy_ballot",
    ),
    path("contests/<int:pk>/proxy/", proxies.appoint, name="proxy_appoint"),
    path("contests/<int:pk>/proxies/", proxies.secretary_list, name="proxy_list"),
    path("proxies/<int:pk>/<slug:decision>/", proxies.decide, name="proxy_decide"),
    path("polls/<int:pk>/register/", register.register, name="register"),
    path("polls/<int:pk>/paper-counts/", register.paper_counts, name="paper_counts"),
    path("polls/<int:pk>/paper-counts/countersign/", register.countersign, name="countersign"),
    path("bodies/<int:pk>/contests/new/", secretary.contest_create, name="contest_create"),
    path("contests/<int:pk>/candidates/add/", secretary.candidate_add, name="candidate_add"),
    path("candidates/<int:pk>/withdraw/", nominations.withdraw, name="candidate_withdraw"),
    path("contests/<int:pk>/stand/", nominations.stand, name="stand"),
    path("candidates/<int:pk>/nominate/", nominations.nominate, name="nominate"),
    path("candidates/<int:pk>/accept/", nominations.accept, name="candidate_accept"),
    path("candidates/<int:pk>/reject/", nominations.reject, name="candidate_reject"),
    path("contests/<int:pk>/schedule/", secretary.schedule, name="schedule"),
    path("contests/<int:pk>/do/<slug:action>/", secretary.transition, name="transition"),
    path("inbox/", inbox.inbox_page, name="inbox"),
    path("inbox/settings/", inbox.settings_page, name="notification_settings"),
]
