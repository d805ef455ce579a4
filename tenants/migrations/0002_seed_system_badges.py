"""Seed the platform badge catalogue (editable afterwards in Django admin; existing rows are kept)."""

from django.db import migrations

BADGES = [
    # slug, icon, rarity, per_challenge, criteria, name, name_sw, description, description_sw
    ("first-deposit", "🌱", "common", False, {"metric": "deposits_count", "gte": 1},
     "First deposit", "Akiba ya kwanza",
     "Made your first verified deposit.", "Umeweka akiba yako ya kwanza iliyothibitishwa."),
    ("five-deposits", "🖐️", "common", False, {"metric": "deposits_count", "gte": 5},
     "Five deposits", "Akiba tano",
     "Made five verified deposits.", "Umeweka akiba mara tano."),
    ("saved-1k", "🪙", "common", False, {"metric": "total_saved", "gte": 1000},
     "1,000 saved", "Umeokoa 1,000",
     "Saved KES 1,000 in total.", "Umeokoa jumla ya KES 1,000."),
    ("saved-10k", "💰", "rare", False, {"metric": "total_saved", "gte": 10000},
     "10k saved", "Umeokoa 10,000",
     "Saved KES 10,000 in total.", "Umeokoa jumla ya KES 10,000."),
    ("saved-100k", "🏦", "legendary", False, {"metric": "total_saved", "gte": 100000},
     "100k saved", "Umeokoa 100,000",
     "Saved KES 100,000 in total.", "Umeokoa jumla ya KES 100,000."),
    ("big-saver", "🐘", "rare", False, {"metric": "largest_deposit", "gte": 5000},
     "Big saver", "Mwekaji mkubwa",
     "Saved KES 5,000 or more in a single deposit.", "Umeweka KES 5,000 au zaidi kwa mara moja."),
    ("streak-4-weeks", "🔥", "rare", False, {"metric": "best_streak_weeks", "gte": 4},
     "4-week streak", "Wiki 4 mfululizo",
     "Saved every week for 4 weeks in a row.", "Umeweka akiba kila wiki kwa wiki 4 mfululizo."),
    ("streak-12-weeks", "☄️", "epic", False, {"metric": "best_streak_weeks", "gte": 12},
     "12-week streak", "Wiki 12 mfululizo",
     "Saved every week for 12 weeks in a row.", "Umeweka akiba kila wiki kwa wiki 12 mfululizo."),
    ("streak-7-days", "📅", "common", False, {"metric": "best_streak_days", "gte": 7},
     "7-day streak", "Siku 7 mfululizo",
     "Saved every day for a week.", "Umeweka akiba kila siku kwa wiki nzima."),
    ("early-bird", "🐦", "common", False, {"metric": "early_bird_count", "gte": 1},
     "Early bird", "Ndege wa mapema",
     "Saved in the first days of a challenge.", "Umeweka akiba katika siku za kwanza za shindano."),
    ("challenge-finisher", "✅", "common", False, {"metric": "challenges_completed", "gte": 1},
     "Challenge finisher", "Umemaliza shindano",
     "Completed a challenge.", "Umekamilisha shindano."),
    ("challenge-veteran", "🎖️", "epic", False, {"metric": "challenges_completed", "gte": 5},
     "Challenge veteran", "Mkongwe wa mashindano",
     "Completed five challenges.", "Umekamilisha mashindano matano."),
    ("challenge-champion", "🏆", "legendary", True, {"metric": "challenge_rank", "eq": 1},
     "Challenge champion", "Bingwa wa shindano",
     "Finished first in a challenge.", "Umeshika nafasi ya kwanza katika shindano."),
    ("podium", "🥉", "epic", True, {"all": [{"metric": "challenge_rank", "lte": 3}, {"metric": "challenge_saved", "gt": 0}]},
     "Podium finish", "Jukwaa la washindi",
     "Finished in the top 3 of a challenge.", "Umemaliza kati ya watatu bora katika shindano."),
    ("team-player", "🤝", "common", False, {"metric": "teams_joined", "gte": 1},
     "Team player", "Mchezaji wa timu",
     "Joined a team in a group challenge.", "Umejiunga na timu katika shindano la kikundi."),
    ("team-goal", "🎯", "rare", False, {"metric": "team_goals_reached", "gte": 1},
     "Team goal", "Lengo la timu",
     "Your team reached its savings goal.", "Timu yako imefikia lengo lake la akiba."),
    ("connector", "📣", "rare", False, {"metric": "referrals", "gte": 1},
     "Connector", "Mwunganishi",
     "A friend you referred made their first deposit.", "Rafiki uliyemleta ameweka akiba yake ya kwanza."),
    ("all-rounder", "🌟", "epic", False,
     {"all": [{"metric": "challenges_joined", "gte": 3}, {"any": [{"metric": "best_streak_weeks", "gte": 4},
                                                                   {"metric": "total_saved", "gte": 10000}]}]},
     "All-rounder", "Hodari wa yote",
     "Joined 3 challenges and kept a 4-week streak or saved 10k.",
     "Umejiunga na mashindano 3 na kudumisha wiki 4 mfululizo au kuokoa 10,000."),
]


def seed(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    SystemBadge = apps.get_model("tenants", "SystemBadge")
    for slug, icon, rarity, per_challenge, criteria, name, name_sw, description, description_sw in BADGES:
        SystemBadge.objects.get_or_create(slug=slug, defaults={
            "icon": icon, "rarity": rarity, "per_challenge": per_challenge, "criteria": criteria, "name": name,
            "name_sw": name_sw, "description": description, "description_sw": description_sw,
        })


def unseed(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    apps.get_model("tenants", "SystemBadge").objects.filter(slug__in=[b[0] for b in BADGES]).delete()


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
