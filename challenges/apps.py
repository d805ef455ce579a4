from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "challenges"

    def ready(self):
        # notifications is a leaf: the game hands it what a broadcast needs (notifications/sources.py).
        from challenges.selectors import broadcast_challenges, challenge_participant_user_ids
        from notifications.sources import source_install

        source_install("challenge_participant_user_ids", challenge_participant_user_ids)
        source_install("broadcast_challenges", broadcast_challenges)
