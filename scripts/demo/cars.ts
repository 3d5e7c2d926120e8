// The cars data set of vega-datasets, split by model year into the era the first model is
// trained on (1970-1976) and the era whose cars it has never seen (1977-1982).
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One car with the columns the demo model uses. */
export interface Car {
  Cylinders: number;
  Displacement: number;
  Horsepower: number;
  Weight_in_lbs: number;
  Acceleration: number;
  Miles_per_Gallon: number;
  Year: string;
}

export const FEATURES = [
  'Cylinders',
  'Displacement',
  'Horsepower',
  'Weight_in_lbs',
  'Acceleration',
] as const;
export const LABEL = 'Miles_per_Gallon';
/** First model year of the later era; rows before it train the first model. */
export const SHIFT_YEAR = '1977-01-01';

/** Path of cars.json inside node_modules. */
export function carsPath(repoRoot: string): string {
  return path.join(repoRoot, 'node_modules', 'vega-datasets', 'data', 'cars.json');
}

/** Reads the cars with every feature and the label present, split at SHIFT_YEAR. */
export function loadCars(repoRoot: string): { early: Car[]; late: Car[] } {
  const rows = JSON.parse(readFileSync(carsPath(repoRoot), 'utf8')) as Record<string, unknown>[];
  const complete = rows.filter((row) =>
    [...FEATURES, LABEL].every((column) => typeof row[column] === 'number'),
  ) as unknown as Car[];
  return {
    early: complete.filter((car) => car.Year < SHIFT_YEAR),
    late: complete.filter((car) => car.Year >= SHIFT_YEAR),
  };
}

/** Returns the feature columns of a car, as the prediction request sends them. */
export function featuresOf(car: Car): Record<string, number> {
  return Object.fromEntries(FEATURES.map((feature) => [feature, car[feature]]));
}
