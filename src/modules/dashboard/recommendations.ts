export interface Mood {
  valence: number | null;
  arousal: number | null;
}

export interface Numbers {
  sessions: number;
  activeMinutes: number;
  today: Mood;
  yesterday: Mood;
  trend: Mood;
  streakDays: number;
  lastSessionAt: Date | null;
}

export interface Recommendation {
  code: string;
  message: string;
}

const DAY_MS = 86_400_000;

/** Rules over the dashboard's numbers, most pressing first; at most three. */
const RULES: { code: string; message: string; applies: (n: Numbers, now: Date) => boolean }[] = [
  {
    code: 'MOOD_DROPPING',
    message: 'Your mood is lower than yesterday. Consider booking a session or trying a grounding exercise.',
    applies: (n) => n.trend.valence !== null && n.trend.valence <= -0.2,
  },
  {
    code: 'HIGH_AROUSAL',
    message: 'You have been feeling tense today. A few minutes of slow breathing can help.',
    applies: (n) => n.today.arousal !== null && n.today.arousal >= 0.7,
  },
  {
    code: 'RECONNECT',
    message: 'It has been a while since your last session. A short check-in can help keep momentum.',
    applies: (n, now) => n.lastSessionAt === null || now.getTime() - n.lastSessionAt.getTime() > 3 * DAY_MS,
  },
  {
    code: 'CHECK_IN_MOOD',
    message: 'Log how you feel today to see your trend.',
    applies: (n) => n.today.valence === null,
  },
  {
    code: 'KEEP_STREAK',
    message: 'You are on a streak. Keep the routine going.',
    applies: (n) => n.streakDays >= 3,
  },
  {
    code: 'MOOD_IMPROVING',
    message: 'Your mood is up from yesterday. Note what helped.',
    applies: (n) => n.trend.valence !== null && n.trend.valence >= 0.2,
  },
];

export function recommendationsFor(numbers: Numbers, now: Date): Recommendation[] {
  return RULES.filter((rule) => rule.applies(numbers, now))
    .slice(0, 3)
    .map(({ code, message }) => ({ code, message }));
}
