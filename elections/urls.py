from django.urls import path

from elections.views import complaints, inbox, member, secretary, voting

urlpatterns = [
    path("", member.home, name="home"),
    path("contests/<int:pk>/", member.contest_detail, name="contest"),
    path("contests/<int:pk>/results/", member.results, name="results"),
    path("contests/<int:pk>/receipt/", member.receipt_check, name="receipt_check"),
    path("contests/<int:pk>/complain/", complaints.complaint_lodge, name="complaint_lodge"),
    path("contests/<int:pk>/rulings/", complaints.contest_rulings, name="contest_rulings"),
    path("polls/<int:pk>/ballot/", voting.BallotView.as_view(), name="ballot"),
    path("bodies/<int:pk>/contests/new/", secretary.contest_create, name="contest_create"),
    path("contests/<int:pk>/candidates/add/", secretary.candidate_add, name="candidate_add"),
    path("candidates/<int:pk>/withdraw/", secretary.candidate_withdraw, name="candidate_withdraw"),
    path("contests/<int:pk>/schedule/", secretary.schedule, name="schedule"),
    path("contests/<int:pk>/do/<slug:action>/", secretary.transition, name="transition"),
    path("inbox/", inbox.inbox_page, name="inbox"),
    path("inbox/settings/", inbox.settings_page, name="notification_settings"),
]
