import { describe, expect, it } from 'vitest';
import { PredictionIds } from '../monitoring/prediction-log.ts';
import { v1PredictJson, v2InferJson } from './prediction-json.ts';

const predictions = Float32Array.of(23.456, -0, 1e-7, 3.4e38, 17);
const idRange = new PredictionIds('Ab_9-x-', 34, 5);
const ids = ['Ab_9-x-y', 'Ab_9-x-z', 'Ab_9-x-10', 'Ab_9-x-11', 'Ab_9-x-12'];

describe('prediction JSON', () => {
  it('matches JSON.stringify for each response', () => {
    const values = Array.from(predictions);
    expect(v1PredictJson('instances', predictions, idRange, 'v "1"')).toBe(
      JSON.stringify({ predictions: values, prediction_ids: ids, model_version: 'v "1"' }),
    );
    expect(v1PredictJson('inputs', predictions, idRange, '2')).toBe(
      JSON.stringify({ outputs: values, prediction_ids: ids, model_version: '2' }),
    );
    const answer = { modelName: 'cars', modelVersion: '3', requestId: 'r\n1', label: 'mpg' };
    expect(v2InferJson({ ...answer, predictions, ids: idRange })).toBe(
      JSON.stringify({
        model_name: 'cars',
        model_version: '3',
        id: 'r\n1',
        parameters: { prediction_ids: ids },
        outputs: [{ name: 'mpg', datatype: 'FP32', shape: [5, 1], data: values }],
      }),
    );
  });
});
